// What a dns.lookup call answers, in a form that compares across modules and survives JSON.

export type Outcome =
  { err: Record<string, unknown> } | { args: unknown[] } | { thrown: Record<string, unknown> };

/** Call lookup(...args, cb) and report what came back (or what was thrown), Node-comparable. */
export function outcome(dns: { lookup: unknown }, args: unknown[]): Promise<Outcome> {
  return new Promise((resolve) => {
    try {
      (dns.lookup as (...a: unknown[]) => void)(
        ...args,
        (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => {
          if (err) {
            const { code, errno, syscall, hostname, message } = err as NodeJS.ErrnoException & {
              hostname: string;
            };
            resolve({ err: { code, errno, syscall, hostname, message, rest } });
          } else resolve({ args: rest });
        },
      );
    } catch (e) {
      const { code, message, name } = e as NodeJS.ErrnoException;
      resolve({ thrown: { code, message, name } });
    }
  });
}
