/**
 * Vocabulary of the seeded messages and contacts. Customers of a cross-border tour operator write
 * in English, Chinese and Thai, so search meets several scripts; a few rare words give it selective
 * queries as well as common ones.
 */
export const ENGLISH_WORDS = [
  'hello', 'hi', 'thanks', 'thank', 'you', 'please', 'booking', 'book', 'tour', 'hotel', 'room', 'night',
  'flight', 'airport', 'pickup', 'transfer', 'driver', 'guide', 'ticket', 'tickets', 'price', 'quote',
  'discount', 'deposit', 'payment', 'paid', 'invoice', 'receipt', 'refund', 'cancel', 'cancellation',
  'change', 'date', 'dates', 'tomorrow', 'today', 'morning', 'evening', 'afternoon', 'week', 'weekend',
  'family', 'children', 'adults', 'group', 'private', 'shared', 'van', 'bus', 'train', 'boat', 'island',
  'beach', 'temple', 'museum', 'market', 'dinner', 'lunch', 'breakfast', 'vegetarian', 'allergy',
  'passport', 'visa', 'insurance', 'luggage', 'bags', 'delay', 'delayed', 'late', 'early', 'confirm',
  'confirmed', 'confirmation', 'available', 'availability', 'sold', 'out', 'waiting', 'list', 'upgrade',
  'suite', 'view', 'ocean', 'city', 'itinerary', 'schedule', 'meeting', 'point', 'lobby', 'address',
  'map', 'location', 'phone', 'number', 'email', 'message', 'reply', 'question', 'problem', 'issue',
  'help', 'urgent', 'sorry', 'great', 'perfect', 'wonderful', 'amazing', 'review', 'photos', 'the', 'a',
  'for', 'our', 'we', 'is', 'at', 'on', 'to', 'can', 'when', 'where', 'how', 'much', 'what', 'time',
  'Bangkok', 'Shanghai', 'Beijing', 'Chiang', 'Mai', 'Phuket', 'Kyoto', 'Tokyo', 'Seoul', 'Bali',
];

/** Rarer words: each appears in a small share of messages, so these searches are selective. */
export const RARE_WORDS = ['snorkeling', 'wheelchair', 'honeymoon', 'kosher', 'stroller', 'typhoon'];

export const CHINESE_WORDS = [
  '你好', '谢谢', '请问', '预订', '酒店', '房间', '航班', '机场', '接机', '导游', '门票', '价格', '优惠',
  '付款', '发票', '退款', '取消', '改期', '明天', '今天', '上午', '下午', '晚上', '行程', '护照', '签证',
  '行李', '延误', '确认', '可以', '没问题', '多少钱', '几点', '在哪里', '上海', '北京', '曼谷', '清迈',
  '普吉岛', '海滩', '寺庙', '早餐', '素食', '儿童', '家庭', '包车', '司机', '微信', '支付宝',
];

export const THAI_WORDS = ['สวัสดี', 'ขอบคุณ', 'จอง', 'โรงแรม', 'ราคา', 'ยืนยัน', 'ยกเลิก', 'พรุ่งนี้'];

export const FIRST_NAMES = [
  'James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Daniel', 'Karen',
  'Anna', 'Lucas', 'Sofia', 'Noah', 'Emma', 'Liam', 'Olivia', 'Mateo', 'Chloe', 'Ethan',
  'Somchai', 'Suda', 'Niran', 'Malee', 'Anong', 'Kanya', 'Arthit', 'Ploy',
];

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson',
  'White', 'Harris', 'Clark', 'Lewis', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott',
  'Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou',
  'Srisai', 'Chaiyaporn', 'Boonmee', 'Saetang',
];

/** Chinese names, written as their holders write them (WeChat display names). */
export const CHINESE_SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱'];
export const CHINESE_GIVEN_NAMES = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀英', '小红', '建华'];

export const LABELS = ['vip', 'refund', 'booking', 'complaint', 'wechat', 'line', 'partner', 'follow-up', 'group', 'honeymoon'];

/** What the search scenarios ask for: common, rare, Chinese and Thai words. */
export const MESSAGE_QUERIES = ['refund', 'booking', 'passport', 'snorkeling', 'wheelchair', '退款', '酒店', 'โรงแรม'];
export const CONTACT_QUERIES = ['smith', 'wang', 'anna', 'chaiyaporn', 'lee', '王', '李娜', '+15550042'];
