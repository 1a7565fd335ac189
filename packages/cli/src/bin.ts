/** Entry of the `methodzoo` command (bin/methodzoo.mjs runs this file from src/ or dist/). */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
