// The fake driver's BFD socket (drivers/fake.ts openBfd): records what is sent, and lets a test
// deliver datagrams as the port-3784 receiver would (with the TTL they "arrived" with).
import type { BfdDatagram, BfdSocket } from './types.ts';
import { DriverError } from './types.ts';

export class FakeBfdSocket implements BfdSocket {
  readonly sent: Array<{ dst: string; payload: Uint8Array }> = [];
  closed = false;
  private readonly listeners: Array<(d: BfdDatagram) => void> = [];

  constructor(
    readonly family: 4 | 6,
    readonly srcPort: number,
    readonly src: string | undefined,
    readonly ifname: string | undefined,
  ) {}

  /** Where sends go when wired (see `wire`), and whether they are lost on the way. */
  peer: FakeBfdSocket | undefined;
  muted = false;

  send(dst: string, payload: Uint8Array): void {
    if (this.closed) throw new DriverError('send-bfd', this.ifname ?? '', 9, 'EBADF', 'BFD socket closed');
    const copy = new Uint8Array(payload);
    this.sent.push({ dst, payload: copy });
    const to = this.peer;
    if (!to || this.muted) return;
    // Delivered later, never inside the send (as a kernel would), with TTL 255 (one hop).
    setImmediate(() => to.deliver({ src: this.src ?? '', srcPort: this.srcPort, ttl: 255, data: copy }));
  }

  /** Two sockets as the two ends of one link: each one's sends arrive at the other. */
  static wire(a: FakeBfdSocket, b: FakeBfdSocket): void {
    a.peer = b;
    b.peer = a;
  }

  onDatagram(cb: (d: BfdDatagram) => void): void {
    this.listeners.push(cb);
  }

  /** A datagram arriving on port 3784 (a test plays the peer). */
  deliver(d: BfdDatagram): void {
    if (this.closed) return;
    for (const cb of this.listeners) cb(d);
  }

  close(): void {
    this.closed = true;
  }
}
