// What every page may use, made once in main.ts and handed to the pages: one store, one socket, one map.
import type { AlarmBook } from './alarmModel';
import type { Api } from './api';
import type { Session } from './auth';
import type { CommandBook } from './commandModel';
import type { FrameLoop } from './frame';
import type { LeaseBook } from './leases';
import type { FleetMap } from './map/map';
import type { MissionBook } from './missionModel';
import type { Emitter } from './events';
import type { Notices } from './notices';
import type { Recorder } from './recorder';
import type { Router } from './router';
import type { DroneStore } from './store';

export interface AppContext {
  session: Session;
  api: Api;
  store: DroneStore;
  frames: FrameLoop;
  map: FleetMap;
  commands: CommandBook;
  leases: LeaseBook;
  alarms: AlarmBook;
  missions: MissionBook;
  notices: Notices;
  router: Router;
  recorder: Recorder;
  /** Once a second: clocks, ages and countdowns move. */
  tick: Emitter;
  /** The socket is live again after a disconnection: what has no frame replay (leases, command states) is read again. */
  reconnected: Emitter;
}
