// What the user's role lets the page offer (docs/security.md, "Roles, groups and the permission matrix"). The node
// decides; the page only hides what would be refused, so a viewer sees no command, lease or edit controls at all.
// Roles: admin (everything, every group), operator (commands and editing in their groups), viewer (reads the fleet
// of their groups), analytics (reads like a viewer, and the flight analytics of their groups).
import type { User } from './types';

type Who = Pick<User, 'role'> & Partial<Pick<User, 'groups'>>;

/** Commands, control leases, alarm acknowledgement for a drone of `group`: admins anywhere, operators in their groups. */
export function canCommand(user: User | null, group: string | undefined): boolean {
  if (!user) return false;
  if (user.role === 'admin') return true;
  return user.role === 'operator' && typeof group === 'string' && user.groups.includes(group);
}

/** Creating missions and geofences in some group: admins, and operators with at least one group. */
export function canPlan(user: Who | null): boolean {
  if (!user) return false;
  return user.role === 'admin' || (user.role === 'operator' && (user.groups?.length ?? 0) > 0);
}

/** Taking over another user's control lease ({"force":true}) is for admins only. */
export function canForceLease(user: Who | null): boolean {
  return user?.role === 'admin';
}

/** The analytics routes (GET /api/v1/analytics/…): admins (every group), operators and analytics users (their groups). */
export function canReadAnalytics(user: Who | null): boolean {
  const role = user?.role;
  return role === 'admin' || role === 'operator' || role === 'analytics';
}
