/**
 * Dockerfile words and variables: `$NAME`, `${NAME}`, `${NAME:-default}`,
 * `${NAME:+alternative}`; the escapeChar character makes `$` (or a quote, or a
 * space) literal. Quotes group words and are removed.
 */
export type Variables = ReadonlyMap<string, string>;

/** Replaces variables in `text` (quotes and escapes are kept for splitWords). */
export function expand(text: string, vars: Variables, escapeChar = '\\'): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === escapeChar && text[i + 1] === '$') {
      out += `${escapeChar}$`;
      i++;
      continue;
    }
    if (c === "'") {
      // Single quotes: no expansion inside.
      const end = text.indexOf("'", i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out += text.slice(i, stop);
      i = stop - 1;
      continue;
    }
    if (c !== '$') {
      out += c;
      continue;
    }
    const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}/.exec(text.slice(i));
    if (braced) {
      const [whole, name, op, word = ''] = braced;
      const value = vars.get(name!);
      const set = op?.startsWith(':') ? value !== undefined && value !== '' : value !== undefined;
      if (op?.endsWith('-')) out += set ? value : expand(word, vars, escapeChar);
      else if (op?.endsWith('+')) out += set ? expand(word, vars, escapeChar) : '';
      else out += value ?? '';
      i += whole.length - 1;
      continue;
    }
    const plain = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
    if (plain) {
      out += vars.get(plain[1]!) ?? '';
      i += plain[0].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

/** Splits on unquoted white space, removing quotes and escapes. */
export function splitWords(text: string, escapeChar = '\\'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === escapeChar && i + 1 < text.length && quote !== "'") {
      word += text[++i];
      inWord = true;
    } else if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * `KEY=value KEY2="two words"` (ENV, LABEL, ARG), or the old form
 * `KEY value with spaces` (ENV and LABEL with a single pair).
 */
export function keyValues(text: string, escapeChar = '\\'): [string, string][] {
  const words = splitWords(text, escapeChar);
  if (words.length > 0 && !words[0]!.includes('=')) {
    const [key, ...rest] = text.trim().split(/\s+/);
    return [[key!, splitWords(rest.join(' '), escapeChar).join(' ')]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    return eq === -1 ? [w, ''] : [w.slice(0, eq), w.slice(eq + 1)];
  });
}
