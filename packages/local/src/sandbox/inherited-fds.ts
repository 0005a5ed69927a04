/**
 * Descriptors the controller would leak into a job. exec keeps every descriptor without close-on-exec,
 * and neither prlimit nor bubblewrap closes them: one the controller inherited from whatever started it
 * (a directory, a socket) would let the job reach past every mount namespace. Node opens its own with
 * O_CLOEXEC, so these are the ones the process was started with or a native addon opened.
 */
import { readdirSync, readFileSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

/** This process's descriptors above stderr that an exec'd child would inherit. */
export function inheritableFds(): number[] {
  const fds: number[] = [];
  for (const name of readdirSync("/proc/self/fd")) {
    const fd = Number(name);
    if (fd <= 2) continue;
    try {
      const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "latin1"));
      if (flags && (Number.parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) fds.push(fd);
    } catch {} // closed meanwhile (the directory listing's own descriptor, for one)
  }
  return fds;
}

/**
 * The stdio entries from fd 3 upwards that put `replacement` (an open /dev/null) over each inheritable
 * descriptor in the child, so the job finds nothing there. Node has no option to close them.
 */
export function shieldFds(replacement: number, fds = inheritableFds()): Array<"ignore" | number> {
  const shield: Array<"ignore" | number> = [];
  for (const fd of [...fds].sort((a, b) => a - b)) {
    while (shield.length < fd - 3) shield.push("ignore");
    shield[fd - 3] = replacement;
  }
  return shield;
}
