/** @jsxImportSource hono/jsx */
/**
 * The page frame of every console screen: head (one stylesheet, one deferred script, both from this app:
 * the CSP allows nothing else), the navigation for the signed-in roles, and the sign-out form.
 */
import { type Actor, hasRole } from "@spe/core";
import type { Child } from "hono/jsx";
import { CsrfField } from "./components";

export interface Frame {
  title: string;
  actor?: Actor | null;
  csrf?: string;
  /** The nav entry to mark as current. */
  here?: string;
}

function Nav({ actor, here }: { actor: Actor; here?: string }) {
  const links: [string, string, string][] = [];
  if (hasRole(actor, "reviewer", "researcher", "admin", "auditor")) {
    links.push(["queue", "/console", hasRole(actor, "reviewer") ? "Review queue" : "Requests"]);
  }
  if (hasRole(actor, "admin")) {
    links.push(["datasets", "/console/admin/datasets", "Datasets"]);
    links.push(["permits", "/console/admin/permits", "Permits"]);
    links.push(["workspaces", "/console/admin/workspaces", "Workspaces"]);
  }
  if (hasRole(actor, "admin", "auditor")) {
    links.push(["audit", "/console/admin/audit", "Audit"]);
    links.push(["releases", "/console/admin/releases", "Releases"]);
  }
  return (
    <nav aria-label="Console">
      <ul>
        {links.map(([key, href, label]) => (
          <li>
            <a href={href} aria-current={key === here ? "page" : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export function Layout(props: Frame & { children?: Child }) {
  const { actor, csrf } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · SPE console`}</title>
        <link rel="icon" href="/console/static/favicon.svg" />
        <link rel="stylesheet" href="/console/static/console.css" />
        <script src="/console/static/console.js" defer />
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/console">
            SPE console
          </a>
          {actor ? <Nav actor={actor} here={props.here} /> : null}
          {actor && csrf ? (
            <form class="who" method="post" action="/console/sign-out">
              <span>
                {actor.sub} <small>({actor.roles.join(", ") || "no roles"})</small>
              </span>
              <CsrfField token={csrf} />
              <button type="submit" class="link">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main id="main">{props.children}</main>
      </body>
    </html>
  );
}
