import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { presignedDownloads } from "./download-offload";

const s3 = new S3Client({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } });
const mock = mockClient(s3);
beforeEach(() => mock.reset());

async function* body(text: string) {
  yield new TextEncoder().encode(text);
}
const file = (text = "group,n\na,25\n") => ({
  grantId: "dl-01",
  permitId: "P-1",
  path: "outputs/tables/t 1.csv",
  bytes: text.length,
  sha256: "ab".repeat(32),
  body: body(text),
});
const offload = presignedDownloads({
  s3,
  bucket: "spe-releases",
  permitKeyArn: (p) => `arn:aws:kms:eu-west-1:123456789012:alias/spe-test/permit/${p}`,
});

describe("presignedDownloads", () => {
  it("copies the release under the permit key with its SHA-256, then presigns a short GET of that copy", async () => {
    mock.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const url = new URL(await offload(file()));
    const put = mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      Bucket: "spe-releases",
      ServerSideEncryption: "aws:kms",
      SSEKMSKeyId: "arn:aws:kms:eu-west-1:123456789012:alias/spe-test/permit/P-1",
      Metadata: { sha256: "ab".repeat(32) },
      ContentDisposition: "attachment; filename*=UTF-8''t%201.csv",
    });
    expect(put?.Key).toMatch(/^downloads\/dl-01\/[0-9a-f]{32}$/);
    expect(url.hostname).toBe("spe-releases.s3.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe(`/${put?.Key}`);
    expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(mock.commandCalls(GetObjectCommand)).toHaveLength(0); // presigning calls nothing
  });

  it("gives every use its own object, and no URL when the copy fails", async () => {
    mock.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const a = new URL(await offload(file())).pathname;
    const b = new URL(await offload(file())).pathname;
    expect(a).not.toBe(b);
    mock
      .on(PutObjectCommand)
      .rejects(new S3ServiceException({ name: "SlowDown", $fault: "server", $metadata: { httpStatusCode: 503 } }));
    await expect(offload(file())).rejects.toThrow();
  });
});
