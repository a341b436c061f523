// Install hooks for the workspace (pnpm reads this file before resolving; its checksum is recorded in
// pnpm-lock.yaml, so a change here needs `pnpm install` to refresh the lockfile).

// node-llama-cpp's prebuilt llama.cpp binaries (`@node-llama-cpp/<os>-<arch>[-gpu]`) declare more CPUs
// than they run on: linux-arm64 lists arm64 and x64, linux-armv7l arm and x64. On an x64 machine pnpm
// therefore installs both, 33 MB that node-llama-cpp never loads there. Each binary runs only on the
// architecture its name carries, so the hook narrows `cpu` to that one; pnpm then fetches only the
// binary of the machine it installs on (the lockfile keeps every platform's, so one frozen lockfile
// still serves Linux, macOS and Windows on x64 and Arm).
const ARCH_IN_NAME = { x64: "x64", arm64: "arm64", armv7l: "arm", riscv64: "riscv64" };

function narrowLlamaBinaryCpu(pkg) {
  const match = /^@node-llama-cpp\/[a-z]+-([a-z0-9]+)(?:-|$)/.exec(pkg.name ?? "");
  const arch = match === null ? undefined : ARCH_IN_NAME[match[1]];
  if (arch !== undefined && Array.isArray(pkg.cpu) && pkg.cpu.includes(arch) && pkg.cpu.length > 1) {
    pkg.cpu = [arch];
  }
  return pkg;
}

module.exports = {
  hooks: {
    readPackage: (pkg) => narrowLlamaBinaryCpu(pkg),
  },
  narrowLlamaBinaryCpu,
};
