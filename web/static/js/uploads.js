// What an upload may be and where it can end, as the server defines them: contract.js is
// written by the server from its own limits and statuses (GET /uploads/limits says the same).
import { uploadLimits, uploadFinalStatuses } from './contract.js';

const NAMES = { jpeg: 'JPEG', png: 'PNG', webp: 'WebP', gif: 'GIF' };
const typeName = (t) => NAMES[t.split('/')[1]] || t;
const mib = (n) => `${Math.round((n / 1048576) * 10) / 10} MiB`;
const typeList = uploadLimits.contentTypes.map(typeName).join(', ').replace(/, ([^,]*)$/, ' or $1');

/** The accept attribute of a file input. */
export const acceptTypes = uploadLimits.contentTypes.join(',');
/** "JPEG, PNG or WebP, up to 5 MiB". */
export const uploadRule = `${typeList}, up to ${mib(uploadLimits.maxBytes)}`;

/** Why file f cannot be uploaded, or '' when it can. */
export function uploadProblem(f) {
  if (!uploadLimits.contentTypes.includes(f.type)) return `Choose a ${typeList} image.`;
  if (f.size > uploadLimits.maxBytes) return `The image is ${(f.size / 1048576).toFixed(1)} MiB; the limit is ${mib(uploadLimits.maxBytes)}.`;
  return '';
}

/** Whether an upload status will not change by itself. */
export const isFinal = (status) => uploadFinalStatuses.includes(status);
