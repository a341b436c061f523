export declare const NATIVE_PACKAGES: readonly string[];
export declare function bundle(options: {
  entry: string;
  outfile: string;
  external?: readonly string[];
  minify?: boolean;
}): Promise<{ outfile: string; bytes: number; warnings: number }>;
