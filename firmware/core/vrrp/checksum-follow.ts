// `checksum: auto`: which VRRPv3 IPv4 checksum form to send (RFC 5798 computes it over a pseudo-
// header; RFC 9568 section 3 notes implementations that cover the VRRP message only). The decoder
// accepts both forms, so the only question is which one *our peers* accept: the one the current
// master sends.
//
// Following any decodable advert let one spoofed packet flip the form: a master that switched on
// a stray priority-1 advert in the other form was no longer heard by its keepalived peer, which
// took over (split brain). So a form is followed only from the router this machine takes as its
// master, as the machine itself would judge the advert (same VRID, version, interval and address
// checks as machine.ts onAdvert), and:
//  - never while we are master: a lower advert is not a master to follow, and a better one first
//    makes us backup, after which its adverts are the master's;
//  - from the master we follow (heard within Master_Down_Interval): only after FOLLOW_AFTER
//    consecutive adverts from it in the other form; one in our form starts the count again, so a
//    spoofed packet between two real ones changes nothing;
//  - with no live master known (start-up, or the master went silent): from the first advert that
//    passes the checks, because the machine may preempt on that very advert and the adverts it
//    then sends must be in the form the lower master (its peer) accepts.
import type { ChecksumForm, VrrpAdvert } from '../packet/types.ts';
import { sameAddressSet } from './ip.ts';
import { csToMs } from './timers.ts';
import type { VrrpState } from './types.ts';

export const FOLLOW_AFTER = 3;

/** Adverts in the other form seen from one source in a row. */
export interface FormFollow {
  src: string;
  form: ChecksumForm;
  count: number;
}

/** `follow`: switch to the advert's form now; `next`: the count to keep; `why`: when not. */
export interface FormVerdict {
  follow: boolean;
  next: FormFollow | undefined;
  why?: string;
}

/**
 * What an advert in `form` from `src` does to the form we send (`ours`), given the machine's
 * state before it steps on the advert. `prev` is the running count; returns the next one.
 */
export function observeChecksumForm(
  s: VrrpState,
  ours: ChecksumForm,
  form: ChecksumForm,
  src: string,
  adv: VrrpAdvert,
  prev: FormFollow | undefined,
  nowMs: number,
): FormVerdict {
  const cfg = s.config;
  if (s.name !== 'backup') return { follow: false, next: prev, why: `in ${s.name}` };
  if (adv.priority === 0) return { follow: false, next: prev, why: 'priority 0' };
  if (adv.vrid !== cfg.vrid || adv.version !== cfg.version)
    return { follow: false, next: prev, why: 'not this virtual router' };
  if (adv.priority !== 255 && !sameAddressSet(adv.addresses, cfg.addresses))
    return { follow: false, next: prev, why: 'address mismatch' };
  const live =
    s.masterIp !== undefined &&
    s.masterHeardMs !== undefined &&
    nowMs < s.masterHeardMs + csToMs(s.masterDownIntervalCs);
  if (live && s.masterIp !== src) return { follow: false, next: prev, why: 'not the master we follow' };
  if (form === ours) {
    // Our own form from the master: a run in the other form is broken.
    return { follow: false, next: prev && prev.src === src ? undefined : prev, why: 'same form' };
  }
  if (!live) return { follow: true, next: undefined };
  const count = prev && prev.src === src && prev.form === form ? prev.count + 1 : 1;
  if (count >= FOLLOW_AFTER) return { follow: true, next: undefined };
  return { follow: false, next: { src, form, count }, why: `${count} of ${FOLLOW_AFTER} from the master` };
}
