/** ImagePolicy's choice of the latest tag: filterTags, then semver, alphabetical or numerical, as Flux does. */
import { latestMatching } from '../semver/flux-range.ts';

export interface PolicyChoice {
  semver?: { range: string };
  alphabetical?: { order?: 'asc' | 'desc' };
  numerical?: { order?: 'asc' | 'desc' };
}

export interface TagFilter {
  pattern?: string;
  extract?: string;
}

export class PolicyError extends Error {}

/** Go's regexp Expand: `$name`, `${name}`, `$1`, `${1}`. */
function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_x, braced: string | undefined, bare: string | undefined) => {
    const key = braced ?? bare ?? '';
    if (/^\d+$/.test(key)) return m[Number(key)] ?? '';
    return m.groups?.[key] ?? '';
  });
}

/** The tag the policy picks, or undefined when no tag qualifies. */
export function chooseTag(tags: readonly string[], policy: PolicyChoice, filter: TagFilter | undefined): string | undefined {
  // the value each tag is judged by: the tag itself, or what filterTags.extract makes of it
  const candidates: Array<{ tag: string; value: string }> = [];
  let re: RegExp | undefined;
  if (filter?.pattern) {
    try {
      re = new RegExp(filter.pattern);
    } catch (e) {
      throw new PolicyError(`invalid regular expression pattern '${filter.pattern}': ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  for (const tag of tags) {
    if (!re) {
      candidates.push({ tag, value: tag });
      continue;
    }
    const m = re.exec(tag);
    if (!m) continue;
    candidates.push({ tag, value: filter?.extract ? expand(filter.extract, m) : tag });
  }
  if (!candidates.length) return undefined;
  const byValue = new Map(candidates.map((c) => [c.value, c.tag]));
  if (policy.semver) {
    let best: string | undefined;
    try {
      best = latestMatching(candidates.map((c) => c.value), policy.semver.range);
    } catch (e) {
      throw new PolicyError(`invalid semver range '${policy.semver.range}': ${e instanceof Error ? e.message : String(e)}`);
    }
    return best === undefined ? undefined : byValue.get(best);
  }
  if (policy.numerical) {
    const nums = candidates.map((c) => {
      const n = Number(c.value);
      if (c.value.trim() === '' || !Number.isFinite(n)) throw new PolicyError(`failed to parse invalid numeric value '${c.value}'`);
      return { ...c, n };
    });
    nums.sort((a, b) => a.n - b.n);
    return (policy.numerical.order === 'desc' ? nums[0] : nums[nums.length - 1])?.tag;
  }
  if (policy.alphabetical) {
    const sorted = [...candidates].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
    return (policy.alphabetical.order === 'desc' ? sorted[0] : sorted[sorted.length - 1])?.tag;
  }
  throw new PolicyError('the policy sets none of semver, alphabetical or numerical');
}
