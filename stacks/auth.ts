/**
 * Auth: the Cognito user pool whose access tokens the API accepts, with one group per role (the app reads the
 * roles from `cognito:groups`). Only admins create users; MFA (TOTP) is required; threat protection is
 * enforced. Its own stack, ahead of the functions, because every function's environment names its issuer.
 */
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import type { StackContext } from "sst/constructs";
import { stageOf } from "./lib/names";

/** The roles of the security model (docs/architecture.md), one Cognito group each. */
export const ROLE_GROUPS = ["researcher", "reviewer", "admin", "auditor"] as const;

export function Auth({ stack }: StackContext) {
  const userPool = new cognito.UserPool(stack, "UserPool", {
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { sms: false, otp: true },
    passwordPolicy: {
      minLength: 14,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(3),
    },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    // Compromised-credential and risky sign-in detection, enforced (blocks, not just reports): the users can
    // read health data in workspaces and release results. Needs the Plus feature plan.
    featurePlan: cognito.FeaturePlan.PLUS,
    standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
    deletionProtection: true,
    // The identities behind every audit record: keep them in every stage.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  for (const role of ROLE_GROUPS) {
    new cognito.CfnUserPoolGroup(stack, `Group-${role}`, {
      userPoolId: userPool.userPoolId,
      groupName: role,
      description: `SPE role ${role}`,
    });
  }
  // The `spe` CLI signs in with SRP and sends the access token; no hosted UI, no client secret.
  const client = userPool.addClient("CliClient", {
    authFlows: { userSrp: true },
    disableOAuth: true,
    generateSecret: false,
    preventUserExistenceErrors: true,
  });
  const issuer = `https://cognito-idp.${stack.region}.amazonaws.com/${userPool.userPoolId}`;
  // The hosted UI the web console signs in through (its app client is in the Api stack, which knows the
  // callback URL). A Cognito domain prefix is unique per region across all accounts: stage and account make it so.
  const domain = userPool.addDomain("HostedUi", {
    cognitoDomain: { domainPrefix: `spe-${stageOf(stack)}-${stack.account}` },
  });

  stack.addOutputs({
    UserPoolId: userPool.userPoolId,
    UserPoolClientId: client.userPoolClientId,
    HostedUiUrl: domain.baseUrl(),
  });
  return { userPool, client, issuer, jwksUrl: `${issuer}/.well-known/jwks.json`, domain } as const;
}
