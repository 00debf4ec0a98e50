#!/usr/bin/env node
// A `solc` command backed by the pinned solc-js (npm `solc`), shaped for py-solc-x:
//   solc --version                       -> "Version: 0.8.x+commit..." line
//   solc --standard-json [--base-path P] -> standard JSON in on stdin, out on stdout
// Imports resolve from the base path (the project), then from node_modules/ (as native
// solc's --include-path node_modules would), so `@openzeppelin/contracts/...` comes from npm.
// SOLCJS_DEBUG=<file> dumps the standard-JSON input for debugging.
'use strict';
const fs = require('fs');
const path = require('path');

const projectRoot = path.resolve(__dirname, '..');
const solc = require(path.join(projectRoot, 'node_modules', 'solc'));

function argValue(args, flag) {
  const i = args.indexOf(flag);
  if (i >= 0 && i + 1 < args.length) return args[i + 1];
  const eq = args.find((a) => a.startsWith(flag + '='));
  return eq ? eq.slice(flag.length + 1) : undefined;
}

function main(args) {
  if (args.includes('--version')) {
    process.stdout.write('solc, the solidity compiler commandline interface\n');
    process.stdout.write(`Version: ${solc.version()}\n`);
    return 0;
  }
  if (!args.includes('--standard-json')) {
    process.stderr.write('solc.js: only --version and --standard-json are supported\n');
    return 2;
  }
  const basePath = path.resolve(argValue(args, '--base-path') || process.cwd());
  const includePaths = (argValue(args, '--include-path') || '').split(',').filter(Boolean);
  const roots = [basePath, ...includePaths, projectRoot, path.join(projectRoot, 'node_modules')];
  const findImports = (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return { contents: fs.readFileSync(candidate, 'utf8') };
      }
    }
    return { error: `File not found: ${importPath} (looked in ${roots.join(', ')})` };
  };
  const input = fs.readFileSync(0, 'utf8');
  if (process.env.SOLCJS_DEBUG) fs.writeFileSync(process.env.SOLCJS_DEBUG, JSON.stringify({args, cwd: process.cwd(), input: JSON.parse(input)}, null, 1));
  process.stdout.write(solc.compile(input, { import: findImports }));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
