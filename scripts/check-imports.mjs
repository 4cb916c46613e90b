// The circular-import check, and the architecture's import direction between libs.
// It resolves imports with TypeScript's own resolver and the project's tsconfig, so #lib subpath
// imports are followed like relative ones (tools that do not read package.json `imports` miss them).
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..');
const configPath = resolve(root, 'tsconfig.json');
const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, root);
const files = parsed.fileNames.filter((f) => /\/(apps|libs)\/[^/]+\/src\//.test(f));
const host = ts.createCompilerHost(parsed.options);

/** Which libs each lib may import (ARCHITECTURE.md: domain ← config ← database ← queue ← features ← apps). */
const LAYERS = {
  domain: [],
  config: ['domain'],
  logging: [],
  net: ['domain'],
  database: ['domain', 'config'],
  queue: ['domain', 'config', 'database'],
  identity: ['domain', 'config', 'database', 'queue'],
  channels: ['domain', 'config', 'net'],
  messaging: ['domain', 'config', 'database', 'queue', 'channels', 'net'],
  webhooks: ['domain', 'config', 'database', 'queue', 'net'],
  billing: ['domain', 'config', 'database', 'queue'],
  testing: null, // imported only by tests; may import anything
};

const graph = new Map();
const problems = [];
for (const file of files) {
  const source = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = [];
  for (const { fileName } of source.importedFiles) {
    const resolved = ts.resolveModuleName(fileName, file, parsed.options, host).resolvedModule;
    if (!resolved || resolved.isExternalLibraryImport || !resolved.resolvedFileName.startsWith(root)) continue;
    const target = resolved.resolvedFileName;
    targets.push(target);
    checkLayer(file, target, fileName);
  }
  graph.set(file, targets);
}

function area(file) {
  const m = /\/(apps|libs)\/([^/]+)\//.exec(file);
  return m ? { kind: m[1], name: m[2] } : null;
}

function checkLayer(from, to, specifier) {
  const a = area(from);
  const b = area(to);
  if (!a || !b || (a.kind === b.kind && a.name === b.name)) return;
  const isTest = /\.(spec|int-spec|e2e-spec)\.ts$/.test(from);
  const where = `${relative(root, from)} imports ${specifier}`;
  if (b.kind === 'apps' && a.name !== 'testing' && !isTest) problems.push(`${where}: nothing imports an app`);
  if (b.kind === 'libs' && b.name === 'testing' && !isTest && a.name !== 'testing') problems.push(`${where}: libs/testing is for tests`);
  if (a.kind === 'libs' && LAYERS[a.name] && b.kind === 'libs' && b.name !== 'testing' && !isTest && !LAYERS[a.name].includes(b.name)) {
    problems.push(`${where}: libs/${a.name} may import only ${LAYERS[a.name].join(', ') || 'nothing'}`);
  }
}

// Cycles: depth-first search with colours.
const state = new Map();
const stack = [];
const cycles = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 1) cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f)));
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

for (const cycle of cycles) problems.push(`circular import: ${cycle.join(' -> ')}`);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`imports: ${graph.size} files, no cycles, layers respected`);
