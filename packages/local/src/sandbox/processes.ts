/**
 * Killing a job's processes. The job's top process leads its own process group. Under bubblewrap,
 * killing it is enough: the command, which is the pid namespace's init, dies with it (--die-with-parent)
 * and the kernel kills everything else in the namespace. The process tree is walked through /proc as
 * well, so that without a namespace children that left the group with setsid() die too.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Parent pid from /proc/<pid>/stat; the command name may contain spaces and parentheses. */
function parentOf(pid: string): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]);
  } catch {
    return null; // exited meanwhile
  }
}

/** Every live descendant of `pid` (children, grandchildren, ...), read from /proc. */
export function descendantPids(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const parent = parentOf(name);
    if (parent === null) continue;
    const list = children.get(parent) ?? [];
    list.push(Number(name));
    children.set(parent, list);
  }
  const found: number[] = [];
  const queue = [pid];
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    for (const child of children.get(p) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** SIGKILL, ignoring processes that are already gone. */
export function kill(target: number): void {
  // kill(0) and kill(-1) would hit the controller's own group or every process it may signal; 1 is init.
  if (!Number.isInteger(target) || Math.abs(target) <= 1) throw new Error(`refusing to kill ${target}`);
  try {
    process.kill(target, "SIGKILL");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

/**
 * SIGKILL the process group led by `leader`, and with `tree` also every descendant found in /proc. Walk
 * the tree only while the leader is unreaped: afterwards its pid may belong to someone else.
 */
export function killJob(leader: number, tree: boolean): void {
  // Read the tree before killing: once the leader dies its children are re-parented out of reach.
  const descendants = tree ? descendantPids(leader) : [];
  kill(-leader);
  for (const pid of descendants) kill(pid);
}
