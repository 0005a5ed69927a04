/**
 * The console's settings, given by the composition root (never read from the environment here): the key
 * that signs session cookies, how long a session may last, whether a pasted token or a `spe console` link may sign in, and the
 * OIDC provider (Cognito hosted UI on AWS) for the authorization-code flow with PKCE.
 */
import { randomBytes } from "node:crypto";

export interface OidcOptions {
  /** The `iss` of the provider's ID tokens, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc. */
  issuer: string;
  /** e.g. https://auth.example.eu/oauth2/authorize */
  authorizeUrl: string;
  /** e.g. https://auth.example.eu/oauth2/token */
  tokenUrl: string;
  /** The JWKS of the provider, to verify the ID token. */
  jwksUrl: string;
  /** A public app client (no secret): PKCE protects the code. */
  clientId: string;
  /** Must be `<console origin>/console/oidc/callback`, registered with the provider. */
  redirectUri: string;
  /** @default ["openid"] */
  scopes?: string[];
  /** The provider's sign-out page, linked after signing out of the console. */
  logoutUrl?: string;
  /** How long a token request may take. @default 10000 */
  timeoutMs?: number;
}

export interface ConsoleOptions {
  /**
   * Signs session and sign-in cookies (HMAC-SHA-256), 32 bytes or more. Every instance serving the console
   * must share it (on AWS: from Secrets Manager). @default random per process: sessions end at a restart
   */
  sessionKey?: Uint8Array;
  /**
   * Fetches the session key on the console's first request instead (AWS: it is unwrapped by KMS, and the API's
   * other routes must not wait for or depend on that). A failure answers that request with an error and the
   * next request tries again. Takes precedence over `sessionKey`.
   */
  loadSessionKey?: () => Promise<Uint8Array>;
  /** The longest a session lasts; it never outlives the token it came from. @default 8 hours */
  maxSessionSeconds?: number;
  /** Whether the sign-in page accepts a pasted bearer token. @default true */
  pasteToken?: boolean;
  /**
   * Whether `spe console` links are served (POST /console/links and /console/sign-in/link): they turn any
   * bearer token into a session, so they bypass a hosted UI's MFA. @default `pasteToken`
   */
  links?: boolean;
  /** Sign-in through the provider's hosted UI. @default none */
  oidc?: OidcOptions;
  /** Cookies get `Secure` even when the request does not look like TLS (behind a TLS-terminating proxy). @default false */
  secureCookies?: boolean;
  /** The wall clock for session expiry (tokens expire by it). @default Date.now */
  now?: () => number;
}

export interface ResolvedConsoleOptions {
  /** Valid once `ready()` has resolved (the console's first middleware awaits it). */
  sessionKey: Uint8Array;
  ready: () => Promise<void>;
  maxSessionSeconds: number;
  pasteToken: boolean;
  links: boolean;
  oidc: OidcOptions | null;
  secureCookies: boolean;
  now: () => number;
}

/** @throws Error on a session key under 32 bytes or a non-positive session length. */
export function resolveOptions(o: ConsoleOptions = {}): ResolvedConsoleOptions {
  if (o.sessionKey && o.sessionKey.byteLength < 32) {
    throw new Error(`console sessionKey has ${o.sessionKey.byteLength} bytes: give at least 32 random bytes`);
  }
  const maxSessionSeconds = o.maxSessionSeconds ?? 8 * 3600;
  if (!(maxSessionSeconds > 0)) throw new Error(`console maxSessionSeconds must be > 0, got ${maxSessionSeconds}`);
  const resolved: ResolvedConsoleOptions = {
    sessionKey: o.loadSessionKey ? new Uint8Array(0) : (o.sessionKey ?? randomBytes(32)),
    ready: async () => {},
    maxSessionSeconds,
    pasteToken: o.pasteToken ?? true,
    links: o.links ?? o.pasteToken ?? true,
    oidc: o.oidc ?? null,
    secureCookies: o.secureCookies ?? false,
    now: o.now ?? Date.now,
  };
  const load = o.loadSessionKey;
  if (load) {
    let loading: Promise<void> | null = null;
    resolved.ready = () => {
      loading ??= load().then(
        (key) => {
          if (key.byteLength < 32) throw new Error(`the loaded console session key has ${key.byteLength} bytes`);
          resolved.sessionKey = key;
        },
        (err: unknown) => {
          loading = null; // the next request tries again
          throw err;
        },
      );
      return loading;
    };
  }
  return resolved;
}
