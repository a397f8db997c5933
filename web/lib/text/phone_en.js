// The words of the phone page's shell, sign-in, home, report and sync (English).
export const WORDS = {
};
