// BFD (RFC 5880 asynchronous mode, RFC 5881 single hop): the pure session machine.
export * from './session.ts';
export type * from './status.ts';
