import { AssignerProtocol, type Cluster } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { stickyLeaderAssigner } from '@tokenwatch/server/leader-election';

const TOPIC = 'idp.token-requests.leader';

/** The metadata a member sends when it joins, claiming leadership or not. */
function metadataOf(leading: boolean): Buffer {
  const assigner = stickyLeaderAssigner(TOPIC, () => leading)({ cluster: {} as Cluster, groupId: 'g', logger: console as never });
  return assigner.protocol({ topics: [TOPIC] }).metadata;
}

async function assign(members: { memberId: string; memberMetadata: Buffer }[]): Promise<Record<string, number[]>> {
  const assigner = stickyLeaderAssigner(TOPIC, () => false)({ cluster: {} as Cluster, groupId: 'g', logger: console as never });
  const result = await assigner.assign({ members, topics: [TOPIC] });
  return Object.fromEntries(result.map(({ memberId, memberAssignment }) => [memberId, AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment[TOPIC] ?? []]));
}

describe('the leader election assigner', () => {
  it('keeps partition 0 with the member that leads now, whatever the member ids', async () => {
    expect(await assign([
      { memberId: 'a', memberMetadata: metadataOf(false) },
      { memberId: 'z', memberMetadata: metadataOf(true) },
      { memberId: 'm', memberMetadata: metadataOf(false) },
    ])).toEqual({ a: [], m: [], z: [0] });
  });

  it('gives partition 0 to the first member by id when nobody leads, and an entry to every member', async () => {
    expect(await assign([
      { memberId: 'b', memberMetadata: metadataOf(false) },
      { memberId: 'a', memberMetadata: metadataOf(false) },
    ])).toEqual({ a: [0], b: [] });
  });

  it('never elects a member by a claim it cannot read', async () => {
    const foreign = AssignerProtocol.MemberMetadata.encode({ version: 1, topics: [TOPIC], userData: Buffer.from('{"leading":"yes"}') });
    expect(await assign([
      { memberId: 'b', memberMetadata: foreign },
      { memberId: 'c', memberMetadata: Buffer.from([1, 2, 3]) },
      { memberId: 'a', memberMetadata: metadataOf(false) },
    ])).toEqual({ a: [0], b: [], c: [] });
  });
});
