// The notice bar under the header: what went wrong outside any one control (the connection, the session, error
// frames). Connection notices carry the topic "connection" and go away by themselves once the socket is live again,
// so a red bar never tells of a problem that is over.
import { button, byId, h } from './dom';
import { clock } from './format';

const MAX_NOTICES = 20;

export type NoticeLevel = 'error' | 'warning' | 'info';
export type NoticeTopic = 'connection' | 'session' | 'node' | 'app';

export interface Notice {
  text: string;
  level: NoticeLevel;
  topic: NoticeTopic;
  at: number;
  count: number;
}

export class Notices {
  private items: Notice[] = []; // newest first
  private readonly list = byId<HTMLUListElement>('notice-list');
  private readonly bar = byId('notices');

  constructor() {
    byId('notices').append(button('×', { class: 'btn icon', title: 'dismiss all' }, () => this.clear()));
  }

  add(text: string, level: NoticeLevel, topic: NoticeTopic): void {
    const first = this.items[0];
    if (first && first.text === text) {
      first.count++;
      first.at = Date.now();
    } else {
      this.items.unshift({ text, level, topic, at: Date.now(), count: 1 });
      this.items.length = Math.min(this.items.length, MAX_NOTICES);
    }
    this.render();
  }

  clearTopic(topic: NoticeTopic): void {
    const before = this.items.length;
    this.items = this.items.filter((n) => n.topic !== topic);
    if (this.items.length !== before) this.render();
  }

  clear(): void {
    this.items = [];
    this.render();
  }

  private render(): void {
    this.bar.hidden = this.items.length === 0;
    this.list.replaceChildren(
      ...this.items.map((n) =>
        h('li', { class: `notice ${n.level}`, testid: 'notice' }, [
          h('time', { text: clock(n.at) }),
          n.count > 1 ? `${n.text} (×${n.count})` : n.text,
        ]),
      ),
    );
  }
}
