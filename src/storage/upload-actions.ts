/** @module storage/upload-actions — what an operator should do about a failed upload, by the store's error code. */

export function actionFor(code: string): string {
  switch (code) {
    case "AccessDenied":
    case "InvalidAccessKeyId":
    case "SignatureDoesNotMatch":
    case "ERR_S3_MISSING_CREDENTIALS":
      return "check S3_ACCESS_KEY / S3_SECRET_KEY and the bucket policy; files wait in the spool and are retried";
    case "NoSuchBucket":
      return "create the bucket or fix S3_BUCKET; files wait in the spool and are retried";
    case "ConnectionRefused":
    case "DNSResolveFailed":
    case "Timeout":
    case "UPLOAD_TIMEOUT":
    case "ConnectionClosed":
      return "check that S3_ENDPOINT is reachable from this host; files wait in the spool and are retried";
    default:
      return "files wait in the spool and are retried with backoff; nothing is lost while the spool has room";
  }
}
