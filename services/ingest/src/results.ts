import type { TokenRequest } from '@tokenwatch/shared/events/token-request';

/**
 * What became of one input record. Every record ends in exactly one of these, so nothing
 * is dropped without being counted:
 * - ok:   a valid token request, to be stored;
 * - dlq:  bad input, sent to the dead-letter topic (or the rejects file) with the reason;
 * - skip: a valid record that is not a client token request (a user login, an admin change).
 */
export type DecodeResult =
  // `json` is the event as canonical JSON text, the form storage takes; `unknownAuthMethod`
  // is a vendor auth-method value the adapter could not map (stored as `unknown`, counted);
  // `raw` is the allowlisted, redacted copy of the source record that `json` carries as its
  // `raw` key (absent for canonical input, whose record is the event itself).
  | {
      readonly kind: 'ok';
      readonly event: TokenRequest;
      readonly json: string;
      readonly unknownAuthMethod?: string;
      readonly raw?: string;
    }
  | { readonly kind: 'dlq'; readonly reason: string }
  | { readonly kind: 'skip'; readonly reason: string };

export const ok = (event: TokenRequest, json: string, unknownAuthMethod?: string, raw?: string): DecodeResult => ({
  kind: 'ok',
  event,
  json,
  ...(unknownAuthMethod === undefined ? {} : { unknownAuthMethod }),
  ...(raw === undefined ? {} : { raw }),
});
export const deadLetter = (reason: string): DecodeResult => ({ kind: 'dlq', reason });
export const skip = (reason: string): DecodeResult => ({ kind: 'skip', reason });
