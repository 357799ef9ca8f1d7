import { generateJwtSecret, importClusterKeys } from "../auth/keys.js";
import { rootAdminToken } from "../bootstrap.js";

/**
 * Makes the signing key for a Worker deployment and prints the admin token it
 * implies (the Worker bootstraps the cluster from the key on its first request).
 */
const secret = process.env.SHOAL_JWT_KEY ?? generateJwtSecret();
const keys = await importClusterKeys(secret);
process.stdout.write(`Cluster id: ${keys.clusterId}

1. Store the signing key as a Worker secret (paste it when asked):

     npx wrangler secret put SHOAL_JWT_KEY
     ${secret}

2. Once deployed, this is the admin token (keep it secret):

     ${await rootAdminToken(keys)}
`);
