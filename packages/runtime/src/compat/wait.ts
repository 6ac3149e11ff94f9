/**
 * testcontainers-style readiness helpers. Each strategy is a thin wrapper
 * around a `WaitSpec` (plain data); the engine does the waiting.
 */
import { CspecError } from '../errors.js';
import type { WaitSpec } from '../wait/spec.js';

function checkTimeout(ms: number): number {
  if (!(Number.isFinite(ms) && ms > 0)) {
    throw new CspecError('CSPEC_INVALID_SPEC', `startup timeout must be a positive number of ms, got ${ms}`);
  }
  return ms;
}

/** A readiness check as data, plus the startup deadline it asks for. */
export class WaitStrategy {
  #startupTimeoutMs: number | undefined;
  readonly #toSpec: () => WaitSpec;
  readonly #defaultTimeoutMs: (() => number | undefined) | undefined;

  /** `toSpec` builds the data; `defaultTimeoutMs` applies when no timeout was set on this strategy. */
  constructor(toSpec: () => WaitSpec, defaultTimeoutMs?: () => number | undefined) {
    this.#toSpec = toSpec;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /**
   * Deadline for the whole start (start and readiness, after the image is built or pulled): cspec has one
   * deadline per container. A timeout set on the container wins over this one.
   */
  withStartupTimeout(startupTimeoutMs: number): this {
    this.#startupTimeoutMs = checkTimeout(startupTimeoutMs);
    return this;
  }

  get startupTimeoutMs(): number | undefined {
    return this.#startupTimeoutMs ?? this.#defaultTimeoutMs?.();
  }

  toSpec(): WaitSpec {
    return this.#toSpec();
  }
}

/** `Wait.forHttp(path, port)`: chain status codes and the method. */
export class HttpWaitStrategy extends WaitStrategy {
  readonly #status: number[] = [];
  #method: string | undefined;

  constructor(path: string, port: number) {
    super(() => ({
      type: 'http',
      port,
      path,
      ...(this.#status.length ? { status: [...this.#status] } : {}),
      ...(this.#method ? { method: this.#method } : {}),
    }));
  }

  /**
   * Accepts this status code. Calling it again accepts several codes (any of
   * them). Without it, any 2xx is accepted. Predicates
   * (`forStatusCodeMatching`, `forResponsePredicate`) are not supported:
   * readiness must be plain data.
   */
  forStatusCode(statusCode: number): this {
    if (!(Number.isInteger(statusCode) && statusCode >= 100 && statusCode <= 599)) {
      throw new CspecError('CSPEC_INVALID_SPEC', `HTTP status code must be 100-599, got ${statusCode}`);
    }
    this.#status.push(statusCode);
    return this;
  }

  withMethod(method: string): this {
    this.#method = method.toUpperCase();
    return this;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function flagsOf(re: RegExp): string {
  return re.flags.replace(/[gy]/g, '');
}

function shell(command: string): string[] {
  return ['/bin/sh', '-c', command];
}

export const Wait = {
  /** Every published port accepts connections. */
  forListeningPorts(): WaitStrategy {
    return new WaitStrategy(() => ({ type: 'ports' }));
  },

  /** The combined log contains `message` (a substring, or a RegExp) at least `times` times. */
  forLogMessage(message: string | RegExp, times = 1): WaitStrategy {
    const spec: WaitSpec =
      typeof message === 'string'
        ? { type: 'log', pattern: escapeRegExp(message), times }
        : {
            type: 'log',
            pattern: message.source,
            // The engine counts every match itself; `g` and `y` carry no meaning here.
            ...(flagsOf(message) ? { flags: flagsOf(message) } : {}),
            times,
          };
    return new WaitStrategy(() => spec);
  },

  /**
   * The image's HEALTHCHECK passes (as with Docker), or — cspec's extension —
   * the given command: `Wait.forHealthCheck(['pg_isready'])`, or a string run
   * by `/bin/sh -c`. Without a command, an image without HEALTHCHECK fails
   * the start with `CSPEC_INVALID_SPEC` before anything is created.
   */
  forHealthCheck(command?: string | readonly string[]): WaitStrategy {
    if (command === undefined || command.length === 0) {
      return new WaitStrategy(() => ({ type: 'healthcheck' }));
    }
    const argv = typeof command === 'string' ? shell(command) : [...command];
    return new WaitStrategy(() => ({ type: 'command', command: argv }));
  },

  /** An HTTP request to a published container port answers with an accepted status. */
  forHttp(path: string, port: number): HttpWaitStrategy {
    return new HttpWaitStrategy(path, port);
  },

  /** `command` (run by `/bin/sh -c` inside the container) exits 0. */
  forSuccessfulCommand(command: string): WaitStrategy {
    return new WaitStrategy(() => ({ type: 'command', command: shell(command) }));
  },

  /** The container runs to completion and exits 0. */
  forOneShotStartup(): WaitStrategy {
    return new WaitStrategy(() => ({ type: 'exit' }));
  },

  /**
   * All strategies, concurrently. The deadline is this strategy's own timeout
   * if set, else the longest of the inner ones.
   */
  forAll(strategies: readonly WaitStrategy[]): WaitStrategy {
    const list = [...strategies];
    return new WaitStrategy(
      () => ({ type: 'all', of: list.map((s) => s.toSpec()) }),
      () => {
        const inner = list.map((s) => s.startupTimeoutMs).filter((ms) => ms !== undefined);
        return inner.length ? Math.max(...inner) : undefined;
      },
    );
  },
} as const;
