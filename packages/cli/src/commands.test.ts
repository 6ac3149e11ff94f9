import { describe, expect, it } from 'vitest';
import { COMMANDS, matchCommand } from './commands.js';
import { formatCommandHelp } from './help.js';

describe('matchCommand', () => {
  it('finds commands by one or two words, and aliases', () => {
    expect(matchCommand(['run', 'img', 'ls'])?.entry.name).toBe('run');
    expect(matchCommand(['run', 'img', 'ls'])?.rest).toEqual(['img', 'ls']);
    expect(matchCommand(['network', 'create', 'n1'])?.entry.name).toBe('network create');
    expect(matchCommand(['network', 'create', 'n1'])?.rest).toEqual(['n1']);
    expect(matchCommand(['images'])?.entry.name).toBe('image ls');
    expect(matchCommand(['network'])).toBeUndefined();
    expect(matchCommand(['nope'])).toBeUndefined();
  });
});

describe('command definitions', () => {
  it('each loads, is named as registered, and has usage, examples and help', async () => {
    for (const entry of COMMANDS) {
      const def = await entry.load();
      expect(def.name).toBe(entry.name);
      expect(def.usage.startsWith(entry.name)).toBe(true);
      expect(def.examples.length).toBeGreaterThan(0);
      expect(formatCommandHelp(def)).toContain(`Usage: cspec ${def.usage}`);
    }
  });

  it('stops at the first positional only for run and exec', async () => {
    const stopping = [];
    for (const entry of COMMANDS) if ((await entry.load()).stopAtFirstPositional) stopping.push(entry.name);
    expect(stopping).toEqual(['run', 'exec']);
  });
});
