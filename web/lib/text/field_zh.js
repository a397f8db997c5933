// The words of the phone page's patrol, household visits and tasks (Chinese).
export const WORDS = {
};
