// A bounded FIFO of outgoing messages that stay queued until the broker acknowledges them.
// Every operation is O(1), so a full queue costs the event loop nothing more than an empty one
// when the broker is slow or gone. Items before `sentCount` are on the wire (awaiting PUBACK);
// a reconnect rewinds the cursor so unacknowledged items go out again, in order (at least once).

export interface Outgoing<T> {
  readonly value: T;
  acked: boolean;
  removed: boolean; // dropped or delivered: a late PUBACK for it is ignored
}

export class AckQueue<T> {
  private buf: (Outgoing<T> | undefined)[];
  private head = 0;
  private len = 0;
  private sent = 0; // items [0, sent) have been handed to the current connection
  droppedCount = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.buf = new Array(capacity);
  }

  get length(): number {
    return this.len;
  }
  /** Items handed to the connection and not yet acknowledged or removed. */
  get sentCount(): number {
    return this.sent;
  }

  /** Appends; when full, drops the oldest (counted) and returns it. */
  push(value: T): Outgoing<T> | undefined {
    let dropped: Outgoing<T> | undefined;
    if (this.len === this.capacity) {
      dropped = this.shiftHead();
      dropped.removed = true;
      this.droppedCount++;
    }
    const item: Outgoing<T> = { value, acked: false, removed: false };
    this.buf[(this.head + this.len) % this.capacity] = item;
    this.len++;
    return dropped;
  }

  /** The next item not yet handed to the connection, marked as sent; undefined when all are. */
  takeNext(): Outgoing<T> | undefined {
    while (this.sent < this.len) {
      const item = this.buf[(this.head + this.sent) % this.capacity]!;
      this.sent++;
      if (!item.acked) return item; // acked out of order on an earlier connection
    }
    return undefined;
  }

  /** Marks an item acknowledged and releases every acknowledged item at the head. */
  ack(item: Outgoing<T>): void {
    if (item.removed) return;
    item.acked = true;
    while (this.len > 0 && this.buf[this.head]!.acked) {
      const done = this.shiftHead();
      done.removed = true;
    }
  }

  /** A new connection: everything unacknowledged goes out again from the head. */
  rewind(): void {
    this.sent = 0;
  }

  private shiftHead(): Outgoing<T> {
    const item = this.buf[this.head]!;
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.len--;
    if (this.sent > 0) this.sent--;
    return item;
  }
}
