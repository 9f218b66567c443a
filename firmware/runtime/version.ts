// The version string: injected by tsup at build time, read from package.json when run from source.
import { readFileSync } from 'node:fs';

declare const __TANDEM_VERSION__: string | undefined;

function fromPackageJson(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return String(pkg.version);
  } catch {
    return '0.0.0-unknown';
  }
}

export const VERSION: string = typeof __TANDEM_VERSION__ === 'string' ? __TANDEM_VERSION__ : fromPackageJson();
