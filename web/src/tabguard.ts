// "Duplicate tab" copies sessionStorage, so two tabs could hold the same single-use refresh token; the second to use
// it would make the node revoke the whole login (docs/security.md: a spent refresh token revokes its family). A page
// that finds a stored session first asks the other tabs of this origin whether one of them is using it.

const CHANNEL = 'dccs.operator.session';
const ANSWER_WITHIN_MS = 300;

type Message = { type: 'probe'; sid: string; nonce: string } | { type: 'taken'; nonce: string };

export class TabGuard {
  private readonly channel: BroadcastChannel | null;

  /** `currentSid` says which login this tab is using now (null: none). */
  constructor(private readonly currentSid: () => string | null) {
    this.channel = openChannel();
    this.channel?.addEventListener('message', (ev: MessageEvent<Message>) => {
      const m = ev.data;
      if (m?.type === 'probe' && m.sid === this.currentSid()) this.channel?.postMessage({ type: 'taken', nonce: m.nonce });
    });
  }

  /** Whether another open tab answers that it uses the login `sid`. A frozen or discarded tab cannot answer. */
  takenByAnotherTab(sid: string): Promise<boolean> {
    const channel = this.channel;
    if (!channel) return Promise.resolve(false);
    const nonce = randomId();
    return new Promise((resolve) => {
      const onMessage = (ev: MessageEvent<Message>): void => {
        if (ev.data?.type === 'taken' && ev.data.nonce === nonce) done(true);
      };
      const timer = setTimeout(() => done(false), ANSWER_WITHIN_MS);
      function done(taken: boolean): void {
        clearTimeout(timer);
        channel?.removeEventListener('message', onMessage);
        resolve(taken);
      }
      channel.addEventListener('message', onMessage);
      channel.postMessage({ type: 'probe', sid, nonce } satisfies Message);
    });
  }
}

function openChannel(): BroadcastChannel | null {
  try {
    return typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL) : null;
  } catch {
    return null;
  }
}

export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
