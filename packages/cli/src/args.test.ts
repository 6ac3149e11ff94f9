import { describe, expect, it } from 'vitest';
import { type FlagDefinition, parseArgs } from './args.js';
import { UsageError } from './usage-error.js';

const FLAGS: FlagDefinition[] = [
  { name: 'rm', type: 'boolean', description: '' },
  { name: 'detach', short: 'd', type: 'boolean', description: '' },
  { name: 'interactive', short: 'i', type: 'boolean', description: '' },
  { name: 'publish', short: 'p', type: 'strings', description: '' },
  { name: 'env', short: 'e', type: 'strings', description: '' },
  { name: 'memory', type: 'string', description: '' },
  { name: 'name', type: 'string', description: '' },
];

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads booleans, strings and repeatable strings, long and short', () => {
    const args = parseArgs(
      ['--rm', '-d', '-p', '8080:80', '--publish', '5432', '-e', 'A=1', '--env=B=2', '--memory', '64m'],
      FLAGS,
    );
    expect(args.boolean('rm')).toBe(true);
    expect(args.boolean('detach')).toBe(true);
    expect(args.boolean('interactive')).toBe(false);
    expect(args.strings('publish')).toEqual(['8080:80', '5432']);
    expect(args.strings('env')).toEqual(['A=1', 'B=2']);
    expect(args.string('memory')).toBe('64m');
    expect(args.string('name')).toBeUndefined();
    expect(args.positionals).toEqual([]);
  });

  it('takes --flag=value, keeping "=" inside the value', () => {
    const args = parseArgs(['--memory=1g', '-e=X=y=z'], FLAGS);
    expect(args.string('memory')).toBe('1g');
    expect(args.strings('env')).toEqual(['X=y=z']);
  });

  it('takes a value attached to a short flag and combined boolean shorts', () => {
    const args = parseArgs(['-di', '-p8080:80', '-dp', '9000'], FLAGS);
    expect(args.boolean('detach')).toBe(true);
    expect(args.boolean('interactive')).toBe(true);
    expect(args.strings('publish')).toEqual(['8080:80', '9000']);
  });

  it('keeps the last value of a string flag given twice', () => {
    expect(parseArgs(['--name', 'a', '--name', 'b'], FLAGS).string('name')).toBe('b');
  });

  it('collects positionals anywhere by default', () => {
    const args = parseArgs(['one', '--rm', 'two'], FLAGS);
    expect(args.positionals).toEqual(['one', 'two']);
    expect(args.boolean('rm')).toBe(true);
  });

  it('stops at the first positional when asked, so the command keeps its flags', () => {
    const args = parseArgs(['--rm', 'IMAGE', 'ls', '-la', '--rm', '-p', '80'], FLAGS, {
      stopAtFirstPositional: true,
    });
    expect(args.positionals).toEqual(['IMAGE', 'ls', '-la', '--rm', '-p', '80']);
    expect(args.boolean('rm')).toBe(true);
    expect(args.strings('publish')).toEqual([]);
  });

  it('stops at --', () => {
    const args = parseArgs(['--rm', '--', '--name', 'x', '-d'], FLAGS);
    expect(args.positionals).toEqual(['--name', 'x', '-d']);
    expect(args.string('name')).toBeUndefined();
    expect(args.boolean('detach')).toBe(false);
  });

  it('treats a lone "-" as a positional', () => {
    expect(parseArgs(['-'], FLAGS).positionals).toEqual(['-']);
  });

  it('accepts --flag=true / --flag=false for booleans and rejects other values', () => {
    expect(parseArgs(['--rm=true'], FLAGS).boolean('rm')).toBe(true);
    expect(parseArgs(['--rm', '--rm=false'], FLAGS).boolean('rm')).toBe(false);
    expect(usageMessage(() => parseArgs(['--rm=yes'], FLAGS))).toBe('flag --rm takes no value (got "yes")');
  });

  it('names an unknown long or short flag', () => {
    expect(usageMessage(() => parseArgs(['--bogus'], FLAGS))).toBe('unknown flag: --bogus');
    expect(usageMessage(() => parseArgs(['--bogus=1'], FLAGS))).toBe('unknown flag: --bogus');
    expect(usageMessage(() => parseArgs(['-x'], FLAGS))).toBe('unknown flag: -x');
    expect(usageMessage(() => parseArgs(['-dx'], FLAGS))).toBe('unknown flag: -x');
  });

  it('reports a missing value', () => {
    expect(usageMessage(() => parseArgs(['--memory'], FLAGS))).toBe('flag --memory needs a value');
    expect(usageMessage(() => parseArgs(['-p'], FLAGS))).toBe('flag -p needs a value');
  });

  it('carries the command name for the help pointer', () => {
    try {
      parseArgs(['--nope'], FLAGS, { command: 'run' });
      expect.unreachable();
    } catch (error) {
      expect((error as UsageError).command).toBe('run');
    }
  });

  it('rejects reading a flag that was not declared with that type (a programming error)', () => {
    const args = parseArgs([], FLAGS);
    expect(() => args.string('rm')).toThrow(/not declared as string/);
    expect(() => args.boolean('missing')).toThrow(/not declared/);
  });
});
