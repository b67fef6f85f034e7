import { evidence, evidenceSchema } from '@tokenwatch/shared/alerts/evidence';
import { defineFinding } from '@tokenwatch/shared/alerts/finding';

/** A bucket's count against the client's own baseline; the same shape for both series. */
const burstEvidence = evidenceSchema({
  observed: evidence.count('Observed'),
  baseline_median: evidence.number('Baseline median'),
  baseline_mad: evidence.number('Baseline MAD'),
  baseline_kind: evidence.text('Baseline'),
  baseline_samples: evidence.count('Baseline buckets'),
  threshold: evidence.number('Threshold'),
  score: evidence.number('Score (MADs above the median)'),
  bucket_start: evidence.time('Bucket start'),
  bucket_minutes: evidence.count('Bucket minutes'),
  source_ips: evidence.list(
    'Source IPs',
    evidenceSchema({
      ip: evidence.ip('IP'),
      asn: evidence.asn('ASN'),
      as_org: evidence.text('Network operator'),
      country: evidence.text('Country'),
      hosting_provider: evidence.text('Hosting'),
      requests: evidence.count('Requests'),
    }),
  ),
  distinct_asns: evidence.list('Networks (ASNs)', evidence.asn('ASN')),
});

/** Successful token issuance far above the client's baseline. */
export const MINT_VOLUME = defineFinding('mint_volume', burstEvidence);

/** Failed client authentication far above the client's baseline (a guessed secret, a broken rotation). */
export const INVALID_CLIENT_BURST = defineFinding('invalid_client_burst', burstEvidence);
