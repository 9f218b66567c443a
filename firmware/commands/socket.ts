// Which control socket a client command talks to: --socket, else the one --config names, else
// the default.
import { formatIssue, loadConfig, platformDefaults } from '../config/index.ts';

export function socketFrom(values: { socket?: string; config?: string }): string {
  if (values.socket) return values.socket;
  if (values.config) {
    const r = loadConfig(values.config);
    if (r.ok) return r.config.control.socket;
    throw new Error(`cannot read ${values.config}: ${r.errors.map(formatIssue).join('; ')}`);
  }
  return platformDefaults(process.platform).socket;
}
