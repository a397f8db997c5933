// The words of the phone page's patrol, household visits and tasks (English).
export const WORDS = {
};
