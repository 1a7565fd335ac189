/** Datasets, samplers-by-option and mini-batch loading (PyTorch `torch.utils.data` semantics). */
export { hasGetBatch, randomSplit, Subset, TensorDataset, type BatchDataset, type Dataset } from './dataset.js';
export { defaultCollate, type Collated } from './collate.js';
export { DataLoader, type DataLoaderOptions } from './dataloader.js';
