/**
 * `WWW-Authenticate` challenges (RFC 7235) as registries send them:
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:x:pull"`
 * or `Basic realm="registry"`. Several challenges may share one header.
 */

export interface AuthChallenge {
  /** Lower-case: `bearer`, `basic`, ... */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const SPACE = /[ \t]*/y;

/** Parses every challenge of the header; unreadable trailing text is ignored. */
export function parseChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let pos = 0;
  const skip = (re: RegExp) => {
    re.lastIndex = pos;
    const m = re.exec(header);
    if (m) pos += m[0].length;
    return m?.[0];
  };
  const skipSeparators = () => {
    while (pos < header.length && (header[pos] === ',' || header[pos] === ' ' || header[pos] === '\t')) pos++;
  };
  for (;;) {
    skipSeparators();
    const scheme = skip(TOKEN);
    if (!scheme) break;
    const params: Record<string, string> = {};
    for (;;) {
      skip(SPACE);
      const start = pos;
      const name = skip(TOKEN);
      skip(SPACE);
      if (!name || header[pos] !== '=') {
        // Not a parameter: either the next challenge's scheme or a token68 value.
        pos = start;
        break;
      }
      pos++;
      skip(SPACE);
      let value = '';
      if (header[pos] === '"') {
        pos++;
        while (pos < header.length && header[pos] !== '"') {
          if (header[pos] === '\\' && pos + 1 < header.length) pos++;
          value += header[pos];
          pos++;
        }
        pos++;
      } else {
        value = skip(TOKEN) ?? '';
      }
      params[name.toLowerCase()] = value;
      skip(SPACE);
      if (header[pos] !== ',') break;
      pos++;
    }
    out.push({ scheme: scheme.toLowerCase(), params });
  }
  return out;
}
