import { describe, expect, it } from 'vitest';
import { parseConfigFile } from './config-file.js';

describe('cspec.config.json', () => {
  it('reads the matrix', () => {
    expect(parseConfigFile('{"matrix":["debian:bookworm"]}', 'c.json')).toEqual({
      matrix: ['debian:bookworm'],
    });
    expect(parseConfigFile('{}', 'c.json')).toEqual({});
  });

  it('says what is wrong with a bad file', () => {
    expect(() => parseConfigFile('{', 'c.json')).toThrow(/c\.json is not valid JSON/);
    expect(() => parseConfigFile('[]', 'c.json')).toThrow(/must hold an object/);
    expect(() => parseConfigFile('{"matrx":[]}', 'c.json')).toThrow(/unknown key "matrx"/);
    expect(() => parseConfigFile('{"matrix":"debian:bookworm"}', 'c.json')).toThrow(/must be a list/);
  });
});
