// A TypeScript Lambda as the business code would write it: `tsc --strict` must accept it.
import { type DomainEvent, emit, emitMany } from "../../dist/index.js";

export async function handler(userId: string, logId: string): Promise<string[]> {
  const created = await emit(userId, "foodLogCreated", { id: logId, mealType: "lunch", calories: 95 });
  // @ts-expect-error a deleted event carries only its id
  await emit(userId, "foodLogDeleted", { id: logId, calories: 95 });
  // @ts-expect-error mealType is one of the schema's enum values
  await emit(userId, "foodLogCreated", { id: logId, mealType: "brunch" });
  // @ts-expect-error not an event type
  await emit(userId, "foodLogRemoved", { id: logId });
  const batch: DomainEvent[] = [
    { userId, type: "healthMetricCreated", data: { id: "m1", metric: "steps", value: 4200, unit: "steps" } },
    { userId, type: "healthProfileUpdated", data: { weightKg: 70 }, eventId: "profile-v2" },
    // @ts-expect-error each element's data is checked against its own type
    { userId, type: "exerciseLogDeleted", data: { id: "x1", durationMinutes: 30 } },
  ];
  return [created, ...(await emitMany(batch))];
}
