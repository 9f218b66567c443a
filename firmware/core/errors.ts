// Errors that cross a boundary by their code: a command's bad argument or unknown target, as the
// control socket and MQTT answer it ({ ok: false, error: { code, message } }).

export class CommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
  }
}
