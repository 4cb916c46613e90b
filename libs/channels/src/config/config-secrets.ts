import { isPlainObject, SECRET_MASK } from './config-schema.js';

/** Splits a parsed config into what may be stored in the clear and its secrets (by dotted path). */
export function splitSecrets(config: Record<string, unknown>, secretPaths: readonly string[]): {
  open: Record<string, unknown>;
  secrets: Record<string, string>;
} {
  const open = structuredClone(config);
  const secrets: Record<string, string> = {};
  for (const path of secretPaths) {
    const keys = path.split('.');
    const parent = parentOf(open, keys);
    const last = keys[keys.length - 1]!;
    if (parent && typeof parent[last] === 'string') {
      secrets[path] = parent[last];
      delete parent[last];
    }
  }
  return { open, secrets };
}

/** Puts secrets (or, for answers, SECRET_MASK in their place) back into an open config. */
export function joinSecrets(open: Record<string, unknown>, secrets: Record<string, string>, mask = false): Record<string, unknown> {
  const config = structuredClone(open);
  for (const [path, value] of Object.entries(secrets)) {
    const keys = path.split('.');
    let node = config;
    for (const key of keys.slice(0, -1)) {
      if (!isPlainObject(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]!] = mask ? SECRET_MASK : value;
  }
  return config;
}

/**
 * JSON Merge Patch (RFC 7396) of a config: objects merge, `null` removes, anything else replaces.
 * A secret sent back as SECRET_MASK (a client echoing what it read) keeps the stored secret.
 */
export function mergeConfig(current: Record<string, unknown>, patch: Record<string, unknown>, secretPaths: readonly string[], prefix = ''): Record<string, unknown> {
  const out = structuredClone(current);
  for (const [key, value] of Object.entries(patch)) {
    const path = `${prefix}${key}`;
    if (value === SECRET_MASK && secretPaths.includes(path)) continue;
    if (value === null) delete out[key];
    else if (isPlainObject(value) && Object.hasOwn(out, key) && isPlainObject(out[key])) {
      out[key] = mergeConfig(out[key], value, secretPaths, `${path}.`);
    } else {
      // defineProperty: a key named __proto__ stays an own (and so unknown, rejected) key.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

function parentOf(root: Record<string, unknown>, keys: string[]): Record<string, unknown> | null {
  let node: unknown = root;
  for (const key of keys.slice(0, -1)) node = isPlainObject(node) ? node[key] : undefined;
  return isPlainObject(node) ? node : null;
}
