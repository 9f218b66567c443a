// A master sends the same advertisement every Advertisement_Interval: only the priority, the
// interval, the checksum form or the configuration change it. Encoding it (address text to bytes,
// the MAC, both checksums) was most of a master's per-advert CPU (docs/benchmarks.md), so the
// frame is built once and re-sent until one of those changes. The frame is never written to
// after it is built (PacketChannel.send only reads it).
import type { InstanceConfig } from '../config/types.ts';
import type { ChecksumForm } from '../core/packet/types.ts';

export class AdvertFrameCache {
  private frame: Uint8Array | undefined;
  private cfg: InstanceConfig | undefined;
  private priority = -1;
  private maxAdverIntervalCs = -1;
  private form: ChecksumForm | undefined;

  /** The frame for these values: the last one if they are the same, else `build()`'s. */
  get(
    cfg: InstanceConfig,
    priority: number,
    maxAdverIntervalCs: number,
    form: ChecksumForm,
    build: () => Uint8Array,
  ): Uint8Array {
    if (
      this.frame === undefined ||
      this.cfg !== cfg ||
      this.priority !== priority ||
      this.maxAdverIntervalCs !== maxAdverIntervalCs ||
      this.form !== form
    ) {
      this.frame = build();
      this.cfg = cfg;
      this.priority = priority;
      this.maxAdverIntervalCs = maxAdverIntervalCs;
      this.form = form;
    }
    return this.frame;
  }
}
