export declare const NATIVE_PACKAGES: readonly string[];
export declare function bundle(options: {
  entry: string;
  outfile: string;
  external?: readonly string[];
  minify?: boolean;
}): Promise<{ outfile: string; bytes: number; warnings: number }>;
/** A vitest global setup that bundles an app's command before its tests (see `bundle.mjs`). */
export declare function commandBundleSetup(options: {
  entry: string;
  outfile: string;
}): (project: { onTestsRerun(callback: () => unknown): void }) => Promise<void>;
