// What the user's role lets the page offer (docs/security.md, "Roles, groups and the permission matrix"). The node
// decides; the page only hides what would be refused, so a viewer sees no command, lease or edit controls at all.
import type { User } from './types';

/** Commands, control leases, alarm acknowledgement for a drone of `group`: admins anywhere, operators in their groups. */
export function canCommand(user: User | null, group: string | undefined): boolean {
  if (!user) return false;
  if (user.role === 'admin') return true;
  return user.role === 'operator' && typeof group === 'string' && user.groups.includes(group);
}

/** Taking over another user's control lease ({"force":true}) is for admins only. */
export function canForceLease(user: User | null): boolean {
  return user?.role === 'admin';
}
