/** Optional peer dependencies (pg, ioredis, mysql2), loaded only by the services that need them. */

/** Loads an optional peer dependency, or says exactly what to install. */
export async function peer<T>(name: string, service: string): Promise<T> {
  try {
    const module = (await import(name)) as { default?: T };
    return (module.default ?? module) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(
        `cspec: the ${service} service needs the "${name}" package — run: npm install -D ${name}`,
      );
    }
    throw error;
  }
}
