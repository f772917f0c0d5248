// The login form: posts to /api/v1/auth/login through the session and shows each failure in the form — wrong name
// or password (401), too many attempts (429: the button stays disabled for Retry-After, counted down), a refused
// request (400), an unavailable node (503), an unreachable node.
import type { Session } from './auth';
import { byId } from './dom';
import { duration } from './format';

export class LoginForm {
  private readonly root = byId('login');
  private readonly form = byId<HTMLFormElement>('login-form');
  private readonly message = byId('login-msg');
  private readonly name = byId<HTMLInputElement>('login-name');
  private readonly password = byId<HTMLInputElement>('login-pass');
  private readonly error = byId('login-error');
  private readonly submit = byId<HTMLButtonElement>('login-submit');
  private busy = false;
  private blockedUntil = 0; // page clock, ms: 429 Retry-After
  private rateLimited = false;

  constructor(private readonly session: Session) {
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.onSubmit();
    });
  }

  get visible(): boolean {
    return !this.root.hidden;
  }

  show(message: string): void {
    document.body.classList.add('signed-out');
    this.root.hidden = false;
    this.setError('');
    this.rateLimited = false;
    this.message.textContent = message;
    this.message.hidden = !message;
    this.password.value = '';
    this.updateButton();
    (this.name.value ? this.password : this.name).focus();
  }

  hide(): void {
    document.body.classList.remove('signed-out');
    this.root.hidden = true;
    this.setError('');
  }

  /** Once a second while shown: the 429 countdown. */
  tick(): void {
    if (this.visible && (this.rateLimited || this.submit.disabled)) this.updateButton();
  }

  private async onSubmit(): Promise<void> {
    if (this.busy || this.session.loggedIn || Date.now() < this.blockedUntil) return;
    const name = this.name.value.trim();
    const password = this.password.value;
    if (!name || !password) {
      this.setError('Enter your user name and your password.');
      return;
    }
    if (!location.host) {
      this.setError('Open this page from the node (http://host:port/), not from a file.');
      return;
    }
    this.busy = true;
    this.rateLimited = false;
    this.setError('');
    this.message.hidden = true;
    this.updateButton();
    const outcome = await this.session.login(name, password);
    this.busy = false;
    this.updateButton();
    if (outcome.ok) {
      this.password.value = '';
      return; // the session's `began` event shows the app
    }
    if (outcome.problem === 'credentials') {
      this.password.value = '';
      this.password.focus();
    }
    if (outcome.problem === 'rate_limited' && outcome.retryAfterS !== null && outcome.retryAfterS > 0) {
      this.blockedUntil = Date.now() + outcome.retryAfterS * 1000;
      this.rateLimited = true;
      this.updateButton();
      return;
    }
    this.setError(outcome.message);
  }

  private setError(text: string): void {
    this.error.textContent = text;
    this.error.hidden = !text;
  }

  private updateButton(): void {
    const wait = Math.ceil((this.blockedUntil - Date.now()) / 1000);
    this.submit.disabled = this.busy || wait > 0;
    this.submit.textContent = this.busy ? 'Logging in…' : wait > 0 ? `Wait ${duration(wait)}` : 'Log in';
    if (this.rateLimited) {
      this.setError(wait > 0 ? `Too many login attempts. Try again in ${duration(wait)}.` : 'Too many login attempts. You can try again now.');
      if (wait <= 0) this.rateLimited = false;
    }
  }
}
