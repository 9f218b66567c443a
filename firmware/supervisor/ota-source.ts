// What an `ota` command over MQTT may name as its source (issue #12). A broker user must not make
// the daemon read a local file (`/dev/zero` hashed forever, or a probe for which paths exist), nor
// fetch from any host over plain HTTP: only an https:// URL, optionally only from listed hosts.
// The bundle's signature is still what decides; this keeps a remote command from reaching
// anything but an update server.
import { CommandError } from '../core/errors.ts';

export interface RemoteSourcePolicy {
  allowHttp: boolean; // ota.remote_allow_http
  hosts?: readonly string[]; // ota.remote_hosts; absent: any host
}

/** The URL to fetch, or a CommandError('bad-source') that does not echo what was sent. */
export function checkRemoteSource(source: unknown, policy: RemoteSourcePolicy): string {
  const schemes = policy.allowHttp ? 'an https:// or http:// URL' : 'an https:// URL';
  if (typeof source !== 'string' || source === '')
    throw new CommandError('bad-argument', `"source" (${schemes}) is required`);
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new CommandError('bad-source', `source must be ${schemes}; local files cannot be named remotely`);
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:'))
    throw new CommandError('bad-source', `source must be ${schemes}; local files cannot be named remotely`);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase(); // [2001:db8::1] -> 2001:db8::1
  if (policy.hosts && !policy.hosts.some((h) => h.toLowerCase() === host))
    throw new CommandError('bad-source', `host ${url.hostname.slice(0, 253)} is not in ota.remote_hosts`);
  return url.toString();
}

/** Local paths in an error detail, as sent back to a remote requester: the OTA root is named, not shown. */
export function redactPaths(detail: string, root: string): string {
  return detail.split(root).join('<ota root>');
}

/** Rejects with CommandError('timeout') when `work` has not settled within `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new CommandError('timeout', `${what} did not finish within ${ms / 1000} s`)), ms);
    t.unref();
    work.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
