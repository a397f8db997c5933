export const FEATURES = [];
