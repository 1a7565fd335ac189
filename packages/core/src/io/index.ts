export {
  serializeSafetensors,
  serializeSafetensorsAsync,
  deserializeSafetensors,
  parseSafetensorsHeader,
  type SafetensorsTensors,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type DeserializeOptions,
} from './safetensors.js';
export { saveSafetensors, loadSafetensors } from './files.js';
export { saveModule, loadModule, type StateDictModule, type LoadModuleOptions } from './module.js';
