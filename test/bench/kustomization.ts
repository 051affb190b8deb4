import type { BenchResult } from './run.ts';

/** Kustomization apply scenarios (filled in with the Kustomization controller). */
export async function kustomizationBenches(_results: BenchResult[]): Promise<void> {
  // added with the Kustomization controller
}
