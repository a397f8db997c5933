// The words of the phone page's shell, sign-in, home, report and sync (Chinese).
export const WORDS = {
};
